// Tests of src/core.
#include <doctest/doctest.h>
