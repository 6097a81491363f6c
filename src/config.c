#include "ac-config.h"

#include "config.h"
