// Tests of src/domain.
#include <doctest/doctest.h>
