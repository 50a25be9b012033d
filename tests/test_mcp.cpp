// Tests of src/mcp.
#include <doctest/doctest.h>
