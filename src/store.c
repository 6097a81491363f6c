#include "ac-config.h"

#include "store.h"
