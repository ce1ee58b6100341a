/* Appended to solutions/fix_a.c: #import is GCC's #include-once, and the static check knew only
 * #include (and refused #pragma, #line, #ident, #embed by name): the compiler's errors would show
 * the file. Now only the directives a fix needs are allowed. */
#import "/etc/passwd"
