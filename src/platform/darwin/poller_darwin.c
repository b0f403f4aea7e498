/*
 * poller (darwin): poll() over the set (see platform/poller_poll.h).
 */
#include "platform/poller_poll.h"
