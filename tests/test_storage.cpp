// Tests of src/storage.
#include <doctest/doctest.h>
