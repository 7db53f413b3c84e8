"""ansible-playbook runs in the background, their output in log files."""

import os
import re
import subprocess
import threading
import time

from tests.e2e.cluster import PLAYBOOK, recap

from .settings import LOGS, PLAYBOOK_TIMEOUT, ROOT, VENV_PATH, log


class Playbook:
    """An ansible-playbook run in the background, its output in a log file."""

    def __init__(self, inv, name, tag, extra=(), strategy=None):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{len(list(LOGS.iterdir())):03d}-{tag}.log"
        self.out = open(self.log_path, "w")
        cmd = [*PLAYBOOK, "-i", str(inv), *extra, f"playbooks/{name}"]
        strategy_env = {"ANSIBLE_STRATEGY": strategy} if strategy else {}
        self.out.write(" ".join([*(f"{k}={v}" for k, v in strategy_env.items()), *cmd]) + "\n\n")
        self.out.flush()
        log(f"ansible-playbook {name} ({inv.name}), log {self.log_path.relative_to(ROOT)}")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.out, stderr=subprocess.STDOUT, text=True,
                                     env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", NO_COLOR="1", PATH=VENV_PATH,
                                              # task times at the end, after the PLAY RECAP
                                              ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                                              **strategy_env))
        self.seconds = self.ended = None
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        """Notes when the playbook ends (its duration), while the bench polls."""
        self.proc.wait()
        self.ended = time.monotonic()

    def running(self):
        return self.ended is None

    def wait(self):
        while self.ended is None and time.monotonic() - self.t0 < PLAYBOOK_TIMEOUT:
            time.sleep(0.2)
        if self.ended is None:
            self.proc.kill()
            while self.ended is None:
                time.sleep(0.2)
        self.seconds = self.ended - self.t0
        self.out.close()
        self.output = self.log_path.read_text()
        self.recap = recap(self.output)
        log(f"  took {self.seconds:.1f}s, rc {self.proc.returncode}, recap "
            + ", ".join(f"{h} changed={s.get('changed')} failed={s.get('failed')}" for h, s in self.recap.items()))
        return self

    def check(self):
        if self.proc.returncode != 0:
            raise RuntimeError(f"{self.log_path.name} failed (rc {self.proc.returncode}):\n{self.failures()}\n"
                               f"{self.tail(len(self.recap) + 2)}")
        return self

    def failures(self):
        """Each failed task's `fatal:` block (its host, message)."""
        blocks, lines = [], self.output.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("fatal:"):
                block = [line]
                for more in lines[i + 1:i + 12]:
                    if not more.startswith(" "):
                        break
                    block.append(more)
                blocks.append("\n".join(block))
        return "\n".join(blocks)

    def abort(self):
        """Stop a run left behind by a failed measurement."""
        if self.running():
            self.proc.terminate()
            self.proc.wait()

    def slowest(self, count=5):
        """The slowest tasks (profile_tasks' summary): [(seconds, task)]."""
        found = []
        for line in self.output.rsplit("PLAY RECAP", 1)[-1].splitlines():
            m = re.match(r"^(.+?) -{2,} (\d+\.\d+)s$", line.strip())
            if m:
                found.append((float(m.group(2)), m.group(1).strip()))
        return sorted(found, reverse=True)[:count]

    def slowest_note(self):
        """The note every figure gives of its last run's slowest tasks."""
        tasks = "; ".join(f"{task} {sec:.1f} s" for sec, task in self.slowest())
        return f"slowest tasks (last run, profile_tasks): {tasks}"

    def tail(self, lines=25):
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def playbook(inv, name, tag, extra=(), strategy=None):
    return Playbook(inv, name, tag, extra, strategy).wait().check()
