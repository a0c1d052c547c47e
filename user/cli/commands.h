/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The subcommands, perf style: user/cli/main.c dispatches on the first word; each command
 * has its option table and its page (--help, --man) in its own file.
 */
#ifndef MEMSTUDY_COMMANDS_H
#define MEMSTUDY_COMMANDS_H

/* memstudy --pid PID and memstudy run -- CMD: the tracer (cli/cmd_trace.c). */
int cmd_trace(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* memstudy record: a trace into a file (cli/cmd_trace.c); memstudy report FILE reads it
 * (cli/cmd_report.c). */
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* memstudy maps PID: pmap -x with meaning (cli/cmd_maps.c). */
int cmd_maps(int argc, char **argv);
/* memstudy study: the founding notes' experiments (cli/cmd_study.c). */
int cmd_study(int argc, char **argv);

/* Their pages and option tables (options.h): for the man pages and the fuzzer. */
struct cmd_doc;
extern const struct cmd_doc trace_doc, run_doc, maps_doc, study_doc, record_doc, report_doc;

#endif
