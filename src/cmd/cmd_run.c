/* cmd_run: placeholder until the module lands (replaced, never committed as is). */
#include "cmd/cmd.h"
#include "util/util.h"

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ostel_error("run: not built yet");
    return OSTEL_EXIT_FAIL;
}
