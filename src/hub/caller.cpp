#include "hub/caller.hpp"

namespace kizuna::hub {

std::string Caller::Describe() const {
    switch (role) {
        case Role::kOperator:
            return "operator";
        case Role::kStore:
            return "store:" + store_id;
        case Role::kMember:
            return "member:" + member_id;
        case Role::kAnonymous:
            return "anonymous";
    }
    return "anonymous";
}

}  // namespace kizuna::hub
