// Tests of src/keys.
#include <doctest/doctest.h>
