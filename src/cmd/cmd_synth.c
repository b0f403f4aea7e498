/* cmd_synth: placeholder until the module lands (replaced, never committed as is). */
#include "cmd/cmd.h"
#include "util/util.h"

int cmd_synth(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ostel_error("synth: not built yet");
    return OSTEL_EXIT_FAIL;
}
