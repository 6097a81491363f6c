#include "ac-config.h"

#include "api.h"
