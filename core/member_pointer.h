#pragma once

namespace mw {

// The class and field type of a pointer to data member, for the option
// tables (config's and the command line's) that store a value through one.
template <typename T>
struct MemberPointer;
template <typename C, typename F>
struct MemberPointer<F C::*> {
    using Class = C;
    using Field = F;
};

}  // namespace mw
