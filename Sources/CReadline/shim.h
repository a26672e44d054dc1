// GNU readline: line editing, history and completion for the interactive shell.
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>
