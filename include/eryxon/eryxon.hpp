// eryxon/eryxon.hpp - the whole C++ API in one include.
#pragma once

#include "eryxon/audit.hpp"
#include "eryxon/clock.hpp"
#include "eryxon/engine.hpp"
#include "eryxon/events.hpp"
#include "eryxon/error.hpp"
#include "eryxon/keys.hpp"
#include "eryxon/limits.hpp"
#include "eryxon/mcp.hpp"
#include "eryxon/model.hpp"
#include "eryxon/quota.hpp"
#include "eryxon/rest.hpp"
#include "eryxon/shop.hpp"
#include "eryxon/storage.hpp"
#include "eryxon/tools.hpp"
#include "eryxon/webhooks.hpp"
#include "eryxon/version.h"
