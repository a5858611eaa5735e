/* The ZooKeeper C client (multi-threaded flavour), from Debian's libzookeeper-mt-dev. */
#ifndef STRATA_CZOOKEEPER_SHIM_H
#define STRATA_CZOOKEEPER_SHIM_H
#define THREADED 1
#include <zookeeper/zookeeper.h>
#endif
