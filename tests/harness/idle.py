"""Run a command on the CPU the rest of the machine leaves idle:
`python -m tests.harness.idle -- COMMAND...` (`make test` runs the unit
tests this way, beside the converges).

nice alone does not do it on a Linux host that groups tasks by session
(autogroup, the kernel's default): nice ranks a process only among those of
its own session, and each session weighs as much as the containers' whole
cgroup. A busy loop at nice 19 in the shell's session took 6.9 s of CPU in
10 s while two converge units ran. So the command gets a session of its own
(a new autogroup) whose weight is lowered to nice 19 too: the same loop then
took 0.5 s. Where autogroup is off, plain nice applies.

The command keeps this process's id, which is also its process group's:
`kill -- -PID` stops it with everything it started."""
import os
import sys

AUTOGROUP = "/proc/self/autogroup"


def lower_priority():
    """This process in a session of its own at the lowest priority, its
    autogroup included; what the platform cannot do is left out."""
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    try:
        with open(AUTOGROUP, "w") as handle:
            handle.write("19")
    except OSError:
        pass  # no autogroup here
    os.nice(19 - os.nice(0))


def main(argv):
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("usage: python -m tests.harness.idle -- COMMAND...", file=sys.stderr)
        return 2
    lower_priority()
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
