// Internal: lets domain files beyond shop.cpp read through the transaction
// of a Shop::batch running on this thread (shop.cpp owns the batch frame).
#pragma once

#include <string_view>

#include "eryxon/storage.hpp"

namespace eryxon::detail {

/// The transaction of the Shop::batch running on this thread for `storage`
/// and `tenant`, or nullptr when there is none (then open a transaction of
/// your own). VALIDATION_ERROR when this thread's batch is another
/// tenant's.
TenantTx* batch_transaction(Storage& storage, std::string_view tenant);

}  // namespace eryxon::detail
