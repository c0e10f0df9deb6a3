// Package args is the one place a module's arguments are decoded: the
// built-in Ansible modules (tasks/core) and the PostgreSQL job's modules
// (tasks/postgres) read theirs through Parse, so that "yes", "1.5" or an
// unknown key mean the same thing to every module.
//
// The rules are Ansible's: a parameter has a canonical name and aliases
// ("path|dest|name"); an argument no parameter declares is refused with the
// closest name suggested; booleans are Ansible's strict boolean()
// (internal/boolean, the only place that decides what "yes" means); an
// integer is an int, an integral float or a decimal string, never 1.5; a
// string is a string or a number or boolean formatted as Python's str()
// would; a list is a list, a comma-separated string or one number. Every
// failure is an *Error, which is bad input (exit code 5) and names the
// module and the argument.
//
// Options adapt where values come from, not what they mean: the PostgreSQL
// modules also look parameters up in the host's variables and read blank
// text as "not given".
//
// args never touches a host, never renders a template (a value that still
// holds one is only recognised, in static mode) and never guesses: a value
// it cannot read is an error, not a default.
package args
