#ifndef PLEX_TOKEND_API_H
#define PLEX_TOKEND_API_H
#endif
