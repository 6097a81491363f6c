#include "ac-config.h"

#include "token.h"
