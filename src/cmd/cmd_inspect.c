/* cmd_inspect: placeholder until the module lands (replaced, never committed as is). */
#include "cmd/cmd.h"
#include "util/util.h"

int cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ostel_error("inspect: not built yet");
    return OSTEL_EXIT_FAIL;
}
