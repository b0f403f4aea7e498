/*
 * cmd_run: `ostel run` — one llama.cpp run (or any command) under OS telemetry.
 *
 *   ostel run -m MODEL -c CTX -n GEN --tag TAG [options] [-- extra llama.cpp args]
 *   ostel run MODEL CTX GEN TAG [options]                   (the original harness's form)
 *   ostel run --tag TAG [options] -- COMMAND [ARGS...]      (watch any command)
 */
#include "cmd/cmd.h"
#include "cmd/run_args.h"
#include "run/llama_cmd.h"
#include "run/prom.h"
#include "run/runner.h"
#include "util/util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

int ostel_cmd_run(int argc, char **argv)
{
    struct ostel_run_args a;
    int rc = ostel_run_args_parse(&a, argc, argv);
    if (rc != OSTEL_OPT_DONE) {
        ostel_run_args_free(&a);
        return rc == OSTEL_OPT_HELP ? OSTEL_EXIT_OK : OSTEL_EXIT_USAGE;
    }
    if (!a.command_mode)
        a.llama_version = ostel_run_llama_tool_version(a.tool_path);
    a.spec.llama_version = a.llama_version;
    if (ostel_runner_prepare_dir(a.dir) != 0) {
        ostel_run_args_free(&a);
        return OSTEL_EXIT_USAGE;
    }
    struct ostel_prom *prom = NULL;
    if ((a.metrics_listen || a.metrics_textfile) &&
        !(prom = ostel_prom_start(a.metrics_listen, a.metrics_textfile))) {
        ostel_run_args_free(&a);
        return OSTEL_EXIT_USAGE;
    }
    a.spec.prom = prom;
    struct ostel_run_result res;
    int rr = ostel_runner_run(&a.spec, &res);
    ostel_prom_stop(prom);
    if (rr != 0) {
        ostel_run_args_free(&a);
        return OSTEL_EXIT_FAIL;
    }
    ostel_run_args_report(&a, &res);
    ostel_run_result_free(&res);
    ostel_run_args_free(&a);
    if (res.status == OSTEL_RUN_INTERRUPTED)
        return 128 + (res.ostel_signal ? res.ostel_signal : SIGINT);
    return res.status == OSTEL_RUN_OK ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
}
