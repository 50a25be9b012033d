// Tests of src/tools.
#include <doctest/doctest.h>
