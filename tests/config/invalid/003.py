"""Line-level errors (quotes, escapes, variables), conditional blocks and
message directives, a file without its last LF: parsing goes on after each."""

EXPECTED = r"""
[ALERT]    (4242) : config : parsing [003.cfg:2]: unmatched quote at position 13:
  maxconn "100
          ^
[ALERT]    (4242) : config : parsing [003.cfg:3]: unmatched quote at position 17:
  description 'unterminated
              ^
[ALERT]    (4242) : config : parsing [003.cfg:5]: expected ')' in argument 1 of predicate 'defined' used in conditional expression in '.if' at position 9:
  .if defined(
              ^
[ALERT]    (4242) : config : parsing [003.cfg:8]: Unexpected argument 'now' for '.warning'. Use quotes if the message should contain spaces.
[ALERT]    (4242) : config : parsing [003.cfg:9]: lone '.elif' with no matching '.if'.
[ALERT]    (4242) : config : parsing [003.cfg:14]: truncated or invalid hexadecimal sequence at position 10:
  bind \x4:80
       ^
[ALERT]    (4242) : config : parsing [003.cfg:15]: forbidden first char in environment variable name at position 22:
  bind "127.0.0.1:$1"
                   ^
[ALERT]    (4242) : config : parsing [003.cfg:18] : unknown keyword 'bogus' in 'frontend' section
[ALERT]    (4242) : config : parsing [003.cfg:18]: Missing LF on last line, file might have been truncated at position 10.
[ALERT]    (4242) : config : parsing [003.cfg:18]: non-terminated '.if' block.
[ALERT]    (4242) : config : Error(s) found in configuration file : 003.cfg
[WARNING]  (4242) : config : frontend 'fe' has no 'bind' directive. Please declare it as a backend if this was intended.
[ALERT]    (4242) : config : Fatal errors found in configuration.
"""
