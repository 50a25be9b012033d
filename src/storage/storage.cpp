// Out-of-line destructors of the storage interfaces (their vtables live here).
#include "eryxon/storage.hpp"

namespace eryxon {

TenantTx::~TenantTx() = default;
Storage::~Storage() = default;

}  // namespace eryxon
