#include "ac-config.h"

#include "engine.h"
