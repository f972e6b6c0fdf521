# readers.gp - reads per second against the number of readers, from
# tc-bench's plot data.  run.sh sets data, out and machine.
set terminal pngcairo size 900,560 font "sans,10" noenhanced
set output out
set title "tc_get: reads per second, all readers together\n".machine
set xlabel "readers (threads sharing one handle, or processes with one each)"
set ylabel "reads per second"
set logscale xy
set xtics ("1" 1, "2" 2, "4" 4, "8" 8)
set xrange [0.85:9.5]
set format y "%.0s%c"
set grid
set key bottom right box opaque
plot data using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "threads, token unchanged", \
     data using 1:3 with linespoints lw 2 pt 7 lc rgb "#2ca02c" title "threads, tokencached refreshing in a loop", \
     data using 1:4 with linespoints lw 2 pt 7 lc rgb "#d62728" title "threads, segment writer republishing flat out", \
     data using 1:5 with linespoints lw 2 pt 5 dt 2 lc rgb "#1f77b4" title "processes, token unchanged", \
     data using 1:6 with linespoints lw 2 pt 5 dt 2 lc rgb "#2ca02c" title "processes, tokencached refreshing in a loop", \
     data using 1:7 with linespoints lw 2 pt 5 dt 2 lc rgb "#d62728" title "processes, segment writer republishing flat out"
