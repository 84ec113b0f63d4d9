# A gdb script: the goroutines of a running Go process, counted by the
# function each started with, the size of its stack and the part of it in
# use (rounded down to 128 bytes), most common first. A goroutine keeps
# the stack it grew to until a collection finds it using less than a
# quarter (less 800 bytes), so these sizes are what a server of many
# calls holds per call (docs/performance.md, "A call's stacks").
#
#	gdb -q -batch -p PID -ex 'source bench/stacks.py'
#
# gdb stops the process while it reads it: a second or two for 20,000
# goroutines.
import gdb
from collections import Counter

allgs = gdb.parse_and_eval("'runtime.allgs'")
dead = 6  # runtime._Gdead
counts = Counter()
names = {}
for i in range(int(allgs['len'])):
    g = allgs['array'][i]
    if int(g['atomicstatus']['value']) == dead:
        continue
    lo, hi = int(g['stack']['lo']), int(g['stack']['hi'])
    used = hi - int(g['sched']['sp'])
    pc = int(g['startpc'])
    if pc not in names:
        names[pc] = gdb.execute("info symbol %d" % pc, to_string=True).split(' in ')[0].strip()
    counts[(names[pc], hi - lo, used // 128 * 128)] += 1
print("%8s %7s %7s  %s" % ("count", "stack", "used", "started with"))
for (name, size, used), n in counts.most_common(25):
    print("%8d %7d %7d  %s" % (n, size, used, name))
