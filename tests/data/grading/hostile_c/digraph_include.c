/* Appended to solutions/fix_a.c: '%:' is '#' to the compiler (a digraph), so this includes a
 * file outside the submission, whose text the compiler's errors would show; the static check
 * looked for directives that begin with '#'. */
%:include "/etc/passwd"
