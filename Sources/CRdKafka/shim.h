// librdkafka's C API. Built against the installed headers (Debian's librdkafka-dev); at run time Wharf needs
// librdkafka >= 2.3 to talk to current brokers (ops/kafka ships 2.16 for the tests).
#include <librdkafka/rdkafka.h>
