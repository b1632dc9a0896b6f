#!/usr/bin/python3
"""Writes the reference vectors of the concept-drift detectors (detectors/).

1. The input streams of River's drift-detector docstring examples.

C++ cannot cheaply reproduce Python's random.choices (it draws floats from
MT19937 and maps them through bisect on cumulative weights), so the exact
streams River's docstrings run on are generated here with the standard library
and committed as data under tests/detectors/vectors/. The expected detection
indices are River's own docstring outputs (River 0.21) and are written down in
tests/detectors/vectors/concept_known_answers.txt by hand, not computed here:
River is not installed on this machine.

2. CPython random.Random(seed).sample(range(n), k) draws, which
   detectors/kswin.cpp reproduces (River's KSWIN samples its reference window
   with them): python_random_samples.txt.
3. scipy.stats.ks_2samp(a, b, method="auto") results for equal-size samples:
   ks_2samp_same_size.txt.
4. KSWIN's detections on the docstring stream with River's update() transcribed
   below (CPython random + scipy.stats.ks_2samp, the only parts that could
   differ in C++): kswin_reference.txt, in the format of
   concept_known_answers.txt.
5. What River's DDM, EDDM, HDDM_A and HDDM_W report on stationary 0/1 streams
   of 100k values (splitmix64-generated, the same generator the C++ test
   uses): stationary_reference.txt. River's update() methods and the parts of
   river.stats they use (Mean, Var, EWMean) are transcribed below line by
   line, so this is an independent (Python) run of River's arithmetic, not a
   copy of the C++ one.
6. A longer numeric stream with three shifts of the mean (numeric_stream.csv)
   and the drifts of River's ADWIN (river/drift/adwin_c.pyx transcribed to
   Python), PageHinkley and KSWIN on it with a few option sets:
   transcribed_reference.txt, in the format of concept_known_answers.txt.

Run: /usr/bin/python3 scripts/gen_river_streams.py
"""
import collections
import copy
import itertools
import math
import os
import random

from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "detectors", "vectors")


def read_stream(name):
    with open(os.path.join(OUT, name)) as f:
        next(f)
        return [float(line) for line in f]


def write(name, header, values):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(header + "\n")
        for v in values:
            f.write(f"{v}\n")


def main():
    # river.drift.ADWIN, river.drift.KSWIN, river.drift.PageHinkley docstrings:
    # two distributions, {0, 1} then {4, 5, 6, 7}.
    rng = random.Random(12345)
    stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    write("river_stream_12345.csv", "value", stream)

    # river.drift.binary.DDM, EDDM, HDDMA, HDDMW docstrings: a fair coin for
    # 1000 bits, then P(1) = 0.7 for 1000 bits.
    rng = random.Random(42)
    stream = rng.choices([0, 1], k=1000)
    stream = stream + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    write("river_binary_stream_42.csv", "error", stream)

    write_python_random_samples()
    write_ks_vectors()
    write_kswin_reference()
    write_stationary_reference()
    write_transcribed_reference()


def write_python_random_samples():
    # seed, population size, sample size: the pool path (KSWIN's defaults and
    # more), the set path (n larger than CPython's set-size rule), a seed
    # wider than 32 bits, and a restart (the same seed twice gives the same draws).
    cases = [(42, 70, 30), (42, 70, 30), (0, 70, 30), (1, 10, 10), (7, 5, 3),
             (12345, 1000, 10), (2**40 + 3, 500, 50), (99, 20000, 300)]
    with open(os.path.join(OUT, "python_random_samples.txt"), "w") as f:
        f.write("# seed n k : random.Random(seed).sample(range(n), k) three times in a row\n")
        for seed, n, k in cases:
            rng = random.Random(seed)
            for _ in range(3):
                draws = rng.sample(range(n), k)
                f.write(f"{seed} {n} {k} : {' '.join(map(str, draws))}\n")


def write_ks_vectors():
    rng = random.Random(2024)
    cases = []
    for n in (1, 2, 5, 30, 30, 30, 100, 250):
        a = [round(rng.gauss(0, 1), 3) for _ in range(n)]
        b = [round(rng.gauss(0.5, 1), 3) for _ in range(n)]
        cases.append((a, b))
    # Ties across and within samples (KSWIN on 0/1 or small integer streams).
    for n in (30, 60):
        cases.append(([rng.choice([0, 1]) for _ in range(n)], [rng.choice([0, 1, 1]) for _ in range(n)]))
        cases.append(([rng.choice(range(4)) for _ in range(n)], [rng.choice(range(2, 6)) for _ in range(n)]))
    # Identical samples (D = 0) and disjoint ones (D = 1).
    cases.append(([1.0, 2.0, 3.0], [3.0, 1.0, 2.0]))
    cases.append(([float(i) for i in range(30)], [float(i + 100) for i in range(30)]))
    with open(os.path.join(OUT, "ks_2samp_same_size.txt"), "w") as f:
        f.write("# statistic p_value | a | b : scipy.stats.ks_2samp(a, b, method='auto'), "
                f"scipy {__import__('scipy').__version__}\n")
        for a, b in cases:
            r = stats.ks_2samp(a, b, method="auto")
            f.write(f"{r.statistic!r} {r.pvalue!r} | {' '.join(map(repr, a))} | {' '.join(map(repr, b))}\n")


def kswin_drifts(stream, alpha=0.005, window_size=100, stat_size=30, seed=42):
    """river.drift.KSWIN.update (River 0.21), transcribed; returns drift indices."""
    drifts = []
    window = collections.deque(maxlen=window_size)
    rng = random.Random(seed)
    drift = False
    for i, x in enumerate(stream):
        if drift:  # River's _reset()
            window = collections.deque(maxlen=window_size)
            rng = random.Random(seed)
        window.append(x)
        drift = False
        if len(window) >= window_size:
            rnd_window = [window[r] for r in rng.sample(range(window_size - stat_size), stat_size)]
            most_recent = list(itertools.islice(window, window_size - stat_size, window_size))
            st, p_value = stats.ks_2samp(rnd_window, most_recent, method="auto")
            drift = p_value <= alpha and st > 0.1
        if drift:
            drifts.append(i)
    return drifts


def write_kswin_reference():
    rng = random.Random(12345)
    stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    cases = [("", {}), ("alpha=0.0001", {"alpha": 0.0001}),
             ("window_size=60 stat_size=20 seed=7", {"window_size": 60, "stat_size": 20, "seed": 7})]
    with open(os.path.join(OUT, "kswin_reference.txt"), "w") as f:
        f.write("# detector | options | stream | drifts | first warnings | source (see concept_known_answers.txt)\n")
        for text, kwargs in cases:
            drifts = kswin_drifts(stream, **kwargs)
            f.write(f"kswin | {text} | river_stream_12345.csv | {' '.join(map(str, drifts))} |  | "
                    "River's KSWIN.update transcribed in scripts/gen_river_streams.py (CPython random, scipy)\n")


class Mean:
    """river.stats.Mean (River 0.21)."""

    def __init__(self):
        self.n = 0
        self._mean = 0.0

    def update(self, x, w=1.0):
        self.n += w
        self._mean += (w / self.n) * (x - self._mean)

    def get(self):
        return self._mean

    def clone(self):
        other = Mean()
        other.n, other._mean = self.n, self._mean
        return other


class Var:
    """river.stats.Var, ddof=1 (River 0.21)."""

    def __init__(self):
        self.mean = Mean()
        self._S = 0

    def update(self, x, w=1.0):
        mean_old = self.mean.get()
        self.mean.update(x, w)
        mean_new = self.mean.get()
        self._S += w * (x - mean_old) * (x - mean_new)

    def get(self):
        if self.mean.n > 1:
            return self._S / (self.mean.n - 1)
        return 0.0


class EWMean:
    """river.stats.EWMean (River 0.21 runs watermill's Rust EWMean)."""

    def __init__(self, fading_factor):
        self.fading_factor = fading_factor
        self.mean = 0.0

    def update(self, x):
        if self.mean == 0.0:
            self.mean = x
        else:
            self.mean = self.fading_factor * x + (1.0 - self.fading_factor) * self.mean

    def get(self):
        return self.mean


class DDM:
    def __init__(self, warm_start=30, warning_threshold=2.0, drift_threshold=3.0):
        self.warm_start, self.warning_threshold, self.drift_threshold = warm_start, warning_threshold, drift_threshold
        self._reset()

    def _reset(self):
        self.drift_detected = self.warning_detected = False
        self._p = Mean()
        self._p_min = self._s_min = self._ps_min = float("inf")

    def update(self, x):
        if self.drift_detected:
            self._reset()
        self._p.update(x)
        p_i = self._p.get()
        n = self._p.n
        s_i = math.sqrt(p_i * (1 - p_i) / n)
        if n > self.warm_start:
            if p_i + s_i <= self._ps_min:
                self._p_min = p_i
                self._s_min = s_i
                self._ps_min = self._p_min + self._s_min
            if p_i + s_i > self._p_min + self.warning_threshold * self._s_min:
                self.warning_detected = True
            else:
                self.warning_detected = False
            if p_i + s_i > self._p_min + self.drift_threshold * self._s_min:
                self.drift_detected = True
                self.warning_detected = False


class EDDM:
    def __init__(self, warm_start=30, alpha=0.95, beta=0.9):
        self.warm_start, self.alpha, self.beta = warm_start, alpha, beta
        self._reset()

    def _reset(self):
        self.drift_detected = self.warning_detected = False
        self._error_distances = Var()
        self._n = 0
        self._last_error = 0
        self._n_errors = 0
        self._p2s_prime_max = -1

    def update(self, x):
        if self.drift_detected:
            self._reset()
        self._n += 1
        if x == 1:
            self._n_errors += 1
            self._error_distances.update(self._n - self._last_error)
            if self._n > self.warm_start:
                pi_prime = self._error_distances.mean.get()
                si_prime = self._error_distances.get() ** 0.5
                p2s_prime = pi_prime + 2 * si_prime
                if p2s_prime > self._p2s_prime_max:
                    self._p2s_prime_max = p2s_prime
                elif self._n_errors > self.warm_start:
                    level = p2s_prime / self._p2s_prime_max
                    if level < self.beta:
                        self.drift_detected = True
                    elif level < self.alpha:
                        self.warning_detected = True
                    else:
                        self.warning_detected = False
            self._last_error = self._n


class HDDM_A:
    def __init__(self, drift_confidence=0.001, warning_confidence=0.005):
        self.drift_confidence, self.warning_confidence = drift_confidence, warning_confidence
        self._reset()

    def _reset(self):
        self.drift_detected = self.warning_detected = False
        self._x_min, self._x_max, self._z = Mean(), Mean(), Mean()

    def _hoeffding_bound(self, n):
        return math.sqrt(1.0 / (2 * n) * math.log(1.0 / self.drift_confidence))

    def _mean_incr(self, confidence):
        if self._x_min.n == self._z.n:
            return False
        m = (self._z.n - self._x_min.n) / self._x_min.n * (1.0 / self._z.n)
        eps = math.sqrt(m / 2 * math.log(2.0 / confidence))
        return self._z.get() - self._x_min.get() >= eps

    def update(self, x):
        if self.drift_detected:
            self._reset()
        self._z.update(x)
        if self._x_min.n == 0:
            self._x_min = self._z.clone()
        if self._x_max.n == 0:
            self._x_max = self._z.clone()
        eps_z = self._hoeffding_bound(self._z.n)
        eps_x = self._hoeffding_bound(self._x_min.n)
        if self._x_min.get() + eps_x >= self._z.get() + eps_z:
            self._x_min = self._z.clone()
        eps_x = self._hoeffding_bound(self._x_max.n)
        if self._x_max.get() - eps_x <= self._z.get() - eps_z:
            self._x_max = self._z.clone()
        if self._mean_incr(self.drift_confidence):
            self.warning_detected, self.drift_detected = False, True
        elif self._mean_incr(self.warning_confidence):
            self.warning_detected, self.drift_detected = True, False
        else:
            self.warning_detected, self.drift_detected = False, False


class SampleInfo:
    def __init__(self, lambd):
        self._ewma = EWMean(lambd)
        self._is_init = False
        self._ibc = 1.0
        self._lambd_sq = lambd * lambd
        self._c_lambd_sq = (1 - lambd) ** 2

    def update(self, x):
        self._ewma.update(x)
        self._is_init = True
        self._ibc = self._lambd_sq + self._c_lambd_sq * self._ibc


class HDDM_W:
    def __init__(self, drift_confidence=0.001, warning_confidence=0.005, lambda_val=0.05):
        self.drift_confidence, self.warning_confidence, self.lambda_val = (
            drift_confidence, warning_confidence, lambda_val)
        self._reset()

    def _reset(self):
        self.drift_detected = self.warning_detected = False
        self._total = SampleInfo(self.lambda_val)
        self._s1_decr = SampleInfo(self.lambda_val)
        self._s1_incr = SampleInfo(self.lambda_val)
        self._s2_decr = SampleInfo(self.lambda_val)
        self._s2_incr = SampleInfo(self.lambda_val)
        self._incr_cutpoint = float("inf")
        self._decr_cutpoint = -float("inf")

    def _mcdiarmid_bound(self, ibc, confidence):
        return math.sqrt(ibc * math.log(1 / confidence) / 2)

    def _has_mean_changed(self, sample1, sample2, confidence):
        if not (sample1._is_init and sample2._is_init):
            return False
        bound = self._mcdiarmid_bound(sample1._ibc + sample2._ibc, confidence)
        return sample2._ewma.get() - sample1._ewma.get() > bound

    def update(self, x):
        if self.drift_detected:
            self._reset()
        self._total.update(x)
        eps = self._mcdiarmid_bound(self._total._ibc, self.drift_confidence)
        if self._total._ewma.get() + eps < self._incr_cutpoint:
            self._incr_cutpoint = self._total._ewma.get() + eps
            self._s1_incr = copy.deepcopy(self._total)
            self._s2_incr = SampleInfo(self.lambda_val)
        else:
            self._s2_incr.update(x)
        if self._has_mean_changed(self._s1_incr, self._s2_incr, self.drift_confidence):
            self.warning_detected, self.drift_detected = False, True
        elif self._has_mean_changed(self._s1_incr, self._s2_incr, self.warning_confidence):
            self.warning_detected, self.drift_detected = True, False
        else:
            self.warning_detected, self.drift_detected = False, False
        # The decrease statistics only matter with two_sided_test=True.


class AdaptiveWindowing:
    """ADWIN's window (river/drift/adwin_c.pyx) in Python; cdef doubles are
    Python floats, `pow(2, row)` is math.pow, and `2 / 3` is a true division
    (Cython 3, language_level 3).

    river021=True is River 0.21's code. river021=False is the cut loop of
    current River and of Bifet's MOA (ADWIN.java, detectChange), written here
    from their published sources as remembered, not run: River is not
    installable on this machine (no PyPI) and MOA is Java. That loop visits
    every bucket of every row (`for k in range(bucket.current_idx)`; MOA
    `for (k = 0; k <= bucketSizeRow - 1; k++)`) and ends the scan before
    trying the boundary after the newest bucket (W1 would be empty); River
    0.21's `range(bucket.current_idx - 1)` never adds or tries the newest
    bucket of any row (river#1539). MOA and River also update sub-window
    variances v0 and v1 in that loop and never use them in the cut test
    (which takes the whole window's variance), so they are left out."""

    def __init__(self, delta=0.002, clock=32, max_buckets=5, min_window_length=5, grace_period=10,
                 river021=False):
        self.river021 = river021
        self.delta = delta
        self.bucket_deque = collections.deque([Bucket(max_buckets)])
        self.total = 0.0
        self.variance = 0.0
        self.width = 0.0
        self.grace_period = grace_period
        self.tick = 0
        self.clock = clock
        self.min_window_length = min_window_length
        self.max_buckets = max_buckets

    def update(self, value):
        self._insert_element(float(value), 0.0)
        return self._detect_change()

    def _insert_element(self, value, variance):
        self.bucket_deque[0].insert_data(value, variance)
        self.width += 1
        incremental_variance = 0.0
        if self.width > 1.0:
            incremental_variance = (
                (self.width - 1.0)
                * (value - self.total / (self.width - 1.0))
                * (value - self.total / (self.width - 1.0))
                / self.width
            )
        self.variance += incremental_variance
        self.total += value
        self._compress_buckets()

    @staticmethod
    def _calculate_bucket_size(row):
        return math.pow(2, row)

    def _delete_element(self):
        bucket = self.bucket_deque[-1]
        n = self._calculate_bucket_size(len(self.bucket_deque) - 1)
        u = bucket.total_array[0]
        mu = u / n
        v = bucket.variance_array[0]
        self.width -= n
        self.total -= u
        mu_window = self.total / self.width
        incremental_variance = v + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width)
        self.variance -= incremental_variance
        bucket.compress(1)
        if bucket.current_idx == 0:
            self.bucket_deque.pop()
        return n

    def _compress_buckets(self):
        bucket = self.bucket_deque[0]
        idx = 0
        while bucket is not None:
            k = bucket.current_idx
            if k == self.max_buckets + 1:
                try:
                    next_bucket = self.bucket_deque[idx + 1]
                except IndexError:
                    self.bucket_deque.append(Bucket(self.max_buckets))
                    next_bucket = self.bucket_deque[-1]
                n1 = self._calculate_bucket_size(idx)
                n2 = self._calculate_bucket_size(idx)
                mu1 = bucket.total_array[0] / n1
                mu2 = bucket.total_array[1] / n2
                total12 = bucket.total_array[0] + bucket.total_array[1]
                temp = n1 * n2 * (mu1 - mu2) * (mu1 - mu2) / (n1 + n2)
                v12 = bucket.variance_array[0] + bucket.variance_array[1] + temp
                next_bucket.insert_data(total12, v12)
                bucket.compress(2)
                if next_bucket.current_idx <= self.max_buckets:
                    break
            else:
                break
            try:
                bucket = self.bucket_deque[idx + 1]
            except IndexError:
                bucket = None
            idx += 1

    def _detect_change(self):
        change_detected = False
        self.tick += 1
        if (self.tick % self.clock == 0) and (self.width > self.grace_period):
            reduce_width = True
            while reduce_width:
                reduce_width = False
                exit_flag = False
                n0, n1, u0, u1 = 0.0, self.width, 0.0, self.total
                for idx in range(len(self.bucket_deque) - 1, -1, -1):
                    if exit_flag:
                        break
                    bucket = self.bucket_deque[idx]
                    for k in range(bucket.current_idx - 1 if self.river021 else bucket.current_idx):
                        n0 += self._calculate_bucket_size(idx)
                        n1 -= self._calculate_bucket_size(idx)
                        u0 += bucket.total_array[k]
                        u1 -= bucket.total_array[k]
                        if (idx == 0) and (k == bucket.current_idx - 1):
                            exit_flag = True
                            break
                        delta_mean = (u0 / n0) - (u1 / n1)
                        if (n1 >= self.min_window_length and n0 >= self.min_window_length
                                and self._evaluate_cut(n0, n1, delta_mean, self.delta)):
                            reduce_width = True
                            change_detected = True
                            if self.width > 0:
                                n0 -= self._delete_element()
                                exit_flag = True
                                break
        return change_detected

    def _evaluate_cut(self, n0, n1, delta_mean, delta):
        delta_prime = math.log(2 * math.log(self.width) / delta)
        m_recip = (1.0 / (n0 - self.min_window_length + 1)) + (1.0 / (n1 - self.min_window_length + 1))
        epsilon = (math.sqrt(2 * m_recip * (self.variance / self.width) * delta_prime)
                   + 2 / 3 * delta_prime * m_recip)
        return math.fabs(delta_mean) > epsilon


class Bucket:
    def __init__(self, max_size):
        self.current_idx = 0
        self.total_array = [0.0] * (max_size + 1)
        self.variance_array = [0.0] * (max_size + 1)

    def insert_data(self, value, variance):
        self.total_array[self.current_idx] = value
        self.variance_array[self.current_idx] = variance
        self.current_idx += 1

    def compress(self, n_elements):
        window_len = len(self.total_array)
        for i in range(n_elements, window_len):
            self.total_array[i - n_elements] = self.total_array[i]
            self.variance_array[i - n_elements] = self.variance_array[i]
        for i in range(window_len - n_elements, window_len):
            self.total_array[i] = 0.0
            self.variance_array[i] = 0.0
        self.current_idx -= n_elements


def adwin_drifts(stream, **kwargs):
    """river.drift.ADWIN.update: a new helper after each drift (kwargs: the
    options, and river021=True for River 0.21's cut loop)."""
    drifts, helper, drift = [], AdaptiveWindowing(**kwargs), False
    for i, x in enumerate(stream):
        if drift:
            helper = AdaptiveWindowing(**kwargs)
        drift = helper.update(x)
        if drift:
            drifts.append(i)
    return drifts


def page_hinkley_drifts(stream, min_instances=30, delta=0.005, threshold=50.0, alpha=1 - 0.0001, mode="both"):
    """river.drift.PageHinkley.update (River 0.21), transcribed."""
    drifts, drift = [], False
    for i, x in enumerate(stream):
        if drift or i == 0:  # _reset()
            drift = False
            x_mean = Mean()
            sum_increase = sum_decrease = 0.0
            min_increase, max_decrease = float("inf"), -1
        x_mean.update(x)
        dev = x - x_mean.get()
        sum_increase = alpha * sum_increase + dev - delta
        sum_decrease = alpha * sum_decrease + dev + delta
        if sum_increase < min_increase:
            min_increase = sum_increase
        if sum_decrease > max_decrease:
            max_decrease = sum_decrease
        if x_mean.n >= min_instances:
            test_increase = sum_increase - min_increase
            test_decrease = max_decrease - sum_decrease
            up = test_increase > threshold
            down = test_decrease > threshold
            drift = {"up": up, "down": down, "both": up or down}[mode]
        if drift:
            drifts.append(i)
    return drifts


def splitmix64_uniform(n, seed):
    mask = (1 << 64) - 1
    state = seed
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        yield (z >> 11) * 2.0**-53


def write_transcribed_reference():
    # 10000 values: uniform noise around means 0, 0.3, -0.2, 0.5, shifting
    # every 2500 values; rounded to 6 decimals so the CSV is what is tested.
    means = [0.0, 0.3, -0.2, 0.5]
    stream = [round(means[i // 2500] + u - 0.5, 6) for i, u in enumerate(splitmix64_uniform(10000, 7))]
    write("numeric_stream.csv", "value", stream)
    adwin_options = [("", {}), ("clock=1", {"clock": 1}),
                     ("delta=0.1 max_buckets=3 min_window_length=10 grace_period=50",
                      {"delta": 0.1, "max_buckets": 3, "min_window_length": 10, "grace_period": 50})]
    cases = []
    for name, river021 in (("adwin", False), ("adwin_river021", True)):
        for text, options in adwin_options:
            cases.append((name, text, adwin_drifts(stream, river021=river021, **options)))
    # A change of spread around the same mean: Gaussian noise (Box-Muller on
    # splitmix64 pairs) with sd 1 for 3000 values, then sd 4. The every-bucket
    # loop catches it soon after the change; River 0.21's does not at all.
    u = list(splitmix64_uniform(12000, 11))
    spread = [round(math.sqrt(-2.0 * math.log(1.0 - u[2 * i])) * math.cos(2.0 * math.pi * u[2 * i + 1])
                    * (1.0 if i < 3000 else 4.0), 6) for i in range(6000)]
    write("variance_stream.csv", "value", spread)
    docstring = read_stream("river_stream_12345.csv")
    for name, river021 in (("adwin", False), ("adwin_river021", True)):
        cases.append((name, "", adwin_drifts(spread, river021=river021), "variance_stream.csv"))
        cases.append((name, "clock=1", adwin_drifts(spread, river021=river021, clock=1), "variance_stream.csv"))
        cases.append((name, "", adwin_drifts(docstring, river021=river021), "river_stream_12345.csv"))
    cases += [
        ("page_hinkley", "", page_hinkley_drifts(stream)),
        ("page_hinkley", "threshold=5 mode=up", page_hinkley_drifts(stream, threshold=5, mode="up")),
        ("page_hinkley", "threshold=5 mode=down alpha=0.99", page_hinkley_drifts(stream, threshold=5, mode="down", alpha=0.99)),
        ("kswin", "", kswin_drifts(stream)),
    ]
    with open(os.path.join(OUT, "transcribed_reference.txt"), "w") as f:
        f.write("# detector | options | stream | drifts | first warnings | source (see concept_known_answers.txt)\n")
        f.write("# adwin: the cut loop of current River and MOA, an independent Python reference written in\n"
                "# scripts/gen_river_streams.py from their published sources (neither could be run here);\n"
                "# adwin_river021 and the others: River 0.21's code transcribed there.\n")
        for name, options, drifts, *file in cases:
            source = ("current River / MOA cut loop, Python reference in scripts/gen_river_streams.py"
                      if name == "adwin" else "River 0.21's code transcribed in scripts/gen_river_streams.py")
            f.write(f"{name} | {options} | {file[0] if file else 'numeric_stream.csv'} | "
                    f"{' '.join(map(str, drifts))} |  | {source}\n")


def splitmix64_bernoulli(n, p, seed):
    """The stream of tests/detectors/concept_behaviour_test.cpp: splitmix64
    (Steele, Lea & Flood 2014) to 53-bit uniforms, 1 when u < p."""
    mask = (1 << 64) - 1
    state = seed
    values = []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        u = (z >> 11) * 2.0**-53
        values.append(1 if u < p else 0)
    return values


def write_stationary_reference():
    seed = 20241125
    with open(os.path.join(OUT, "stationary_reference.txt"), "w") as f:
        f.write("# detector p seed n : drift indices (River 0.21 arithmetic, transcribed in "
                "scripts/gen_river_streams.py), then '| warnings=' the number of values in a warning state\n")
        for p in (0.05, 0.2, 0.5):
            stream = splitmix64_bernoulli(100000, p, seed)
            for name, cls in (("ddm", DDM), ("eddm", EDDM), ("hddm_a", HDDM_A), ("hddm_w", HDDM_W)):
                detector = cls()
                drifts, warnings = [], 0
                for i, x in enumerate(stream):
                    detector.update(x)
                    if detector.drift_detected:
                        drifts.append(i)
                    elif detector.warning_detected:
                        warnings += 1
                f.write(f"{name} {p} {seed} {len(stream)} : {' '.join(map(str, drifts))} | warnings={warnings}\n")


if __name__ == "__main__":
    main()
