#include "ac-config.h"

#include "plex.h"
