// TCP sockets on 127.0.0.1 for tests that stand in for a server or probe one: the few lines of socket(2), bind(2)
// and connect(2) they would otherwise each repeat.
#ifndef PCUSAGE_TESTS_TESTING_LOOPBACK_H_
#define PCUSAGE_TESTS_TESTING_LOOPBACK_H_

namespace pcusage::testing {

// A TCP socket bound to 127.0.0.1 on a port the kernel picks (written to `*port`), listening when `backlog` > 0;
// -1 when it cannot be had. The caller closes it.
int BindLoopback(int* port, int backlog = 0);

// A TCP socket connected to 127.0.0.1:`port`, or -1 when nothing accepts there. The caller closes it.
int ConnectToLoopback(int port);

}  // namespace pcusage::testing

#endif  // PCUSAGE_TESTS_TESTING_LOOPBACK_H_
