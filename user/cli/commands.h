/* One function per subcommand, perf style: user/cmd_NAME.c defines cmd_NAME. */
#ifndef MEMSTUDY_COMMANDS_H
#define MEMSTUDY_COMMANDS_H

/* memstudy [--pid PID] and memstudy run -- CMD: the tracer (user/cmd_trace.c). */
int cmd_trace(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* memstudy maps PID: pmap -x with meaning (user/cmd_maps.c). */
int cmd_maps(int argc, char **argv);
int cmd_study(int argc, char **argv);

#endif
