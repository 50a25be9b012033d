// Internal: lets domain files other than shop.cpp join a Shop::batch().
// Not installed; not part of the public surface.
#pragma once

#include <string_view>

#include "eryxon/storage.hpp"

namespace eryxon::detail {

/// The transaction of the Shop::batch() running on this thread for
/// `storage` and `tenant`; nullptr when none runs (then begin your own).
/// VALIDATION_ERROR when the running batch belongs to another tenant.
TenantTx* batch_transaction(Storage& storage, std::string_view tenant);

}  // namespace eryxon::detail
