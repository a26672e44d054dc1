// GNU readline: line editing, history and completion for the interactive shell.
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>

// Readline is configured through global variables; Swift 6 treats imported mutable globals as
// unsafe to touch, so these small accessors set them in one place.

static inline void attn_readline_configure(rl_completion_func_t *complete, const char *word_breaks,
                                           rl_cpvfunc_t *word_breaks_for_line) {
    rl_readline_name = "attn";
    rl_catch_signals = 0;                 // attn handles SIGINT itself
    rl_catch_sigwinch = 0;                // and SIGWINCH, which arrives while attn waits in poll
    rl_attempted_completion_function = complete;
    rl_basic_word_break_characters = word_breaks;
    rl_completion_word_break_hook = word_breaks_for_line;  // NULL from it: the basic breaks
}

static inline const char *attn_readline_line_buffer(void) { return rl_line_buffer; }

static inline void attn_readline_completion_over(int over) { rl_attempted_completion_over = over; }
