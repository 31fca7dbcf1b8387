/* fault.h — fault-injection points. ent_fault_point is defined only by the
 * fault-test build of the CLI (tests/fault/faults.c: ENT_KILL_AT stops
 * the process with SIGKILL at a named point); in every other build the
 * weak reference is NULL and a point costs one test of it. */
#ifndef ENT_FAULT_H
#define ENT_FAULT_H

void ent_fault_point(const char *where) __attribute__((weak));

#define ENT_FAULT_POINT(where)                       \
    do {                                             \
        if (ent_fault_point) ent_fault_point(where); \
    } while (0)

#endif
