#include "examples/elec2/logistic_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/durable_file.h"

namespace mw::elec2 {
namespace {

constexpr std::size_t weight_count = feature_count + 1;
using Vector = std::array<double, weight_count>;
using Matrix = std::array<Vector, weight_count>;

// 1 / (1 + exp(-z)) without overflow for large |z|.
double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
    const double e = std::exp(z);
    return e / (1.0 + e);
}

// The design row: 1 for the intercept, then the standardised features.
Vector design_row(const LogisticModel& model, const Features& features) {
    Vector x{};
    x[0] = 1.0;
    for (std::size_t j = 0; j < feature_count; ++j) x[j + 1] = (features[j] - model.means[j]) / model.sds[j];
    return x;
}

// Solves A x = b for a symmetric positive definite A by Cholesky
// decomposition (Golub and Van Loan, Matrix Computations, algorithm 4.2.1);
// the ridge term makes the Newton Hessian positive definite.
Vector solve_positive_definite(Matrix a, Vector b) {
    for (std::size_t j = 0; j < weight_count; ++j) {
        double diagonal = a[j][j];
        for (std::size_t k = 0; k < j; ++k) diagonal -= a[j][k] * a[j][k];
        a[j][j] = std::sqrt(std::max(diagonal, 1e-300));
        for (std::size_t i = j + 1; i < weight_count; ++i) {
            double sum = a[i][j];
            for (std::size_t k = 0; k < j; ++k) sum -= a[i][k] * a[j][k];
            a[i][j] = sum / a[j][j];
        }
    }
    for (std::size_t i = 0; i < weight_count; ++i) {  // L y = b
        for (std::size_t k = 0; k < i; ++k) b[i] -= a[i][k] * b[k];
        b[i] /= a[i][i];
    }
    for (std::size_t i = weight_count; i-- > 0;) {  // L^T x = y
        for (std::size_t k = i + 1; k < weight_count; ++k) b[i] -= a[k][i] * b[k];
        b[i] /= a[i][i];
    }
    return b;
}

template <std::size_t N>
Result<std::array<double, N>> number_array(const nlohmann::json& json, const char* key) {
    using Out = Result<std::array<double, N>>;
    const auto it = json.find(key);
    if (it == json.end()) return Out::failure(fmt::format("missing \"{}\"", key));
    if (!it->is_array() || it->size() != N)
        return Out::failure(fmt::format("\"{}\" must be an array of {} numbers", key, N));
    std::array<double, N> values{};
    for (std::size_t i = 0; i < N; ++i) {
        const auto& element = (*it)[i];
        if (!element.is_number() || !std::isfinite(element.get<double>()))
            return Out::failure(fmt::format("\"{}\"[{}] is not a finite number", key, i));
        values[i] = element.get<double>();
    }
    return {values, {}};
}

}  // namespace

LogisticModel fit_logistic_model(const std::vector<LabelledRow>& rows, const FitOptions& options) {
    LogisticModel model;
    const double n = static_cast<double>(rows.size());
    for (std::size_t j = 0; j < feature_count; ++j) {
        double sum = 0;
        for (const auto& row : rows) sum += row.features[j];
        const double mean = rows.empty() ? 0.0 : sum / n;
        double squares = 0;
        for (const auto& row : rows) squares += (row.features[j] - mean) * (row.features[j] - mean);
        const double sd = rows.empty() ? 0.0 : std::sqrt(squares / n);
        model.means[j] = mean;
        // StandardScaler leaves a constant column unscaled (scale 1) rather than
        // dividing by 0; like its _is_constant_feature check, "constant" allows
        // for the rounding error of the mean (vicprice is 0.003467 in every one
        // of the first 2000 rows, yet the computed sd is about 1e-18, not 0).
        const double rounding_bound = 1e-10 * std::max(1.0, std::abs(mean));
        model.sds[j] = sd > rounding_bound ? sd : 1.0;
    }

    std::vector<Vector> design;
    design.reserve(rows.size());
    for (const auto& row : rows) design.push_back(design_row(model, row.features));

    // Newton's method on the penalised log likelihood: gradient X^T (p - y) + ridge w,
    // Hessian X^T diag(p (1 - p)) X + ridge I (Hastie, Tibshirani and Friedman,
    // The Elements of Statistical Learning, section 4.4.1), as scripts/replay_elec2.py.
    Vector weights{};
    for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
        Vector gradient{};
        Matrix hessian{};
        for (std::size_t r = 0; r < rows.size(); ++r) {
            const Vector& x = design[r];
            double z = 0;
            for (std::size_t j = 0; j < weight_count; ++j) z += weights[j] * x[j];
            const double p = sigmoid(z);
            const double residual = p - (rows[r].up ? 1.0 : 0.0);
            const double curvature = p * (1.0 - p);
            for (std::size_t i = 0; i < weight_count; ++i) {
                gradient[i] += residual * x[i];
                for (std::size_t j = 0; j <= i; ++j) hessian[i][j] += curvature * x[i] * x[j];
            }
        }
        for (std::size_t i = 0; i < weight_count; ++i) {
            gradient[i] += options.ridge * weights[i];
            hessian[i][i] += options.ridge;
            for (std::size_t j = 0; j < i; ++j) hessian[j][i] = hessian[i][j];
        }
        const Vector step = solve_positive_definite(hessian, gradient);
        double largest_step = 0;
        for (std::size_t j = 0; j < weight_count; ++j) {
            weights[j] -= step[j];
            largest_step = std::max(largest_step, std::abs(step[j]));
        }
        if (largest_step < options.tolerance) break;
    }
    model.weights = weights;
    return model;
}

double predict_up_probability(const LogisticModel& model, const Features& features) {
    const Vector x = design_row(model, features);
    double z = 0;
    for (std::size_t j = 0; j < weight_count; ++j) z += model.weights[j] * x[j];
    return sigmoid(z);
}

nlohmann::json to_json(const LogisticModel& model) {
    nlohmann::json features = nlohmann::json::array();
    for (auto name : feature_names) features.push_back(std::string(name));
    return {{"version", model.version},     {"trained_on", model.trained_on}, {"features", features},
            {"means", model.means},         {"sds", model.sds},               {"weights", model.weights}};
}

Result<LogisticModel> model_from_json(const nlohmann::json& json) {
    using Out = Result<LogisticModel>;
    if (!json.is_object()) return Out::failure("the model is not a JSON object");
    LogisticModel model;
    const auto version = json.find("version");
    if (version == json.end() || !version->is_string() || version->get<std::string>().empty())
        return Out::failure("\"version\" must be a non-empty string");
    model.version = version->get<std::string>();
    if (const auto trained_on = json.find("trained_on"); trained_on != json.end()) model.trained_on = *trained_on;
    if (const auto features = json.find("features"); features != json.end()) {
        nlohmann::json expected = nlohmann::json::array();
        for (auto name : feature_names) expected.push_back(std::string(name));
        if (*features != expected)
            return Out::failure(fmt::format("\"features\" is {}, this program uses {}", features->dump(), expected.dump()));
    }
    auto means = number_array<feature_count>(json, "means");
    if (!means.ok()) return Out::failure(means.error);
    auto sds = number_array<feature_count>(json, "sds");
    if (!sds.ok()) return Out::failure(sds.error);
    for (std::size_t j = 0; j < feature_count; ++j)
        if (sds.value[j] <= 0) return Out::failure(fmt::format("\"sds\"[{}] must be positive", j));
    auto weights = number_array<feature_count + 1>(json, "weights");
    if (!weights.ok()) return Out::failure(weights.error);
    model.means = means.value;
    model.sds = sds.value;
    model.weights = weights.value;
    return {std::move(model), {}};
}

std::string save_model(const LogisticModel& model, const std::string& path) {
    return write_file_durably(path, to_json(model).dump(2) + "\n");
}

Result<LogisticModel> load_model(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Result<LogisticModel>::failure(fmt::format("{}: cannot open for reading", path));
    std::ostringstream content;
    content << in.rdbuf();
    const auto json = nlohmann::json::parse(content.str(), nullptr, false);
    if (json.is_discarded()) return Result<LogisticModel>::failure(fmt::format("{}: not valid JSON", path));
    auto model = model_from_json(json);
    if (!model.ok()) return Result<LogisticModel>::failure(fmt::format("{}: {}", path, model.error));
    return model;
}

}  // namespace mw::elec2
