/* The ZooKeeper C client (multi-threaded flavour), from Debian's libzookeeper-mt-dev. */
#ifndef STRATA_CZOOKEEPER_SHIM_H
#define STRATA_CZOOKEEPER_SHIM_H
#define THREADED 1
#include <zookeeper/zookeeper.h>

/* The world-readable ACL, without touching the C global from Swift (it is mutable state there). */
static inline struct ACL_vector *strata_zoo_open_acl(void) { return &ZOO_OPEN_ACL_UNSAFE; }
#endif
