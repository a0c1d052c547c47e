#include "bumpalloc.h"
