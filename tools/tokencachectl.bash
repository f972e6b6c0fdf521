# bash completion for tokencachectl(1)                      -*- shell-script -*-
#
# Installed as $(DATADIR)/bash-completion/completions/tokencachectl, where
# bash-completion loads it on first use; or source it from ~/.bashrc.
#
# It knows nothing of the tool by heart: the commands and their operands
# come from `tokencachectl help --commands`, each command's options (and
# the values of those that take a fixed set) from `tokencachectl help
# --options [COMMAND]`, and credential names from `tokencachectl list
# --json`, through the --runtime-dir given earlier on the line.  Without a
# daemon or a cache there are no names to offer, and nothing is printed.
# It needs bash alone; bash-completion is not required.

# _tokencachectl_run ARGS...: the tool the line names, run quietly.
_tokencachectl_run()
{
	local tool=${COMP_WORDS[0]}

	# A literal "~/" as typed: the shell has not expanded it.
	# shellcheck disable=SC2088
	[[ $tool == "~/"* ]] && tool=$HOME/${tool#"~/"}
	"$tool" "$@" 2>/dev/null </dev/null
}

# _tokencachectl_names DIR: the credential names in the cache of DIR
# (empty: the default), one a line.
_tokencachectl_names()
{
	local dir=$1

	# shellcheck disable=SC2088
	[[ $dir == "~/"* ]] && dir=$HOME/${dir#"~/"}
	_tokencachectl_run ${dir:+--runtime-dir "$dir"} list --json |
	    command sed -n 's/.*"name":[[:space:]]*"\([A-Za-z0-9._~@+-]*\)".*/\1/p'
}

# _tokencachectl_options [COMMAND]: the options of COMMAND (or the global
# ones) into the caller's opts, takes_arg (the argument's name) and values.
# A line of `help --options` is: --OPTION [ARGUMENT [VALUE...]].
_tokencachectl_options()
{
	local o a v

	opts=() takes_arg=() values=()
	while read -r o a v; do
		[[ -n $o ]] || continue
		opts+=("$o")
		[[ -n $a ]] && takes_arg[$o]=$a
		[[ -n $v ]] && values[$o]=$v
	done < <(_tokencachectl_run help --options "$@")
	return 0
}

# _tokencachectl_reply COMPGEN-ARGS...: COMPREPLY, a word a line, so that
# a file name with spaces stays one word.
_tokencachectl_reply()
{
	mapfile -t COMPREPLY < <(compgen "$@")
}

_tokencachectl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev='' dir='' cmd='' operand='' line
	local -a opts=()
	local -A takes_arg=() values=()
	local i w nops=0

	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# "--opt=VALUE" reaches us as "--opt" "=" "VALUE" (COMP_WORDBREAKS
	# holds '='): complete VALUE as the option's argument.
	[[ $prev == "=" ]] && ((COMP_CWORD > 1)) &&
	    prev=${COMP_WORDS[COMP_CWORD - 2]}

	# The global options, then the command; then the command's options
	# and operands up to the word being completed.
	_tokencachectl_options
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		[[ ${COMP_WORDS[i + 1]-} == "=" ]] && ((i++))
		case $w in
		--runtime-dir)
			((i + 1 < COMP_CWORD)) && dir=${COMP_WORDS[i + 1]}
			((i++))
			;;
		--runtime-dir=*)
			dir=${w#*=}
			;;
		--*=*) ;;
		-*)
			[[ -n ${takes_arg[$w]-} ]] && ((i++))
			;;
		*)
			if [[ -z $cmd ]]; then
				cmd=$w
				# Its options replace the global ones.
				_tokencachectl_options "$cmd"
				while IFS= read -r line; do
					[[ ${line%% *} == "$cmd" ]] &&
					    [[ $line == *" "* ]] && operand=${line#* }
				done < <(_tokencachectl_run help --commands)
			else
				nops=$((nops + 1))
			fi
			;;
		esac
	done

	# The argument of an option.
	if [[ -n $prev && $prev == -* && -n ${takes_arg[$prev]-} ]]; then
		case ${takes_arg[$prev]} in
		DIR)
			compopt -o filenames 2>/dev/null || :
			_tokencachectl_reply -d -- "$cur"
			;;
		FILE | MAIN)
			compopt -o filenames 2>/dev/null || :
			_tokencachectl_reply -f -- "$cur"
			;;
		LIST)
			# Comma-separated: complete the last item.
			local head=''
			[[ $cur == *,* ]] && head=${cur%,*},
			_tokencachectl_reply -P "$head" \
			    -W "${values[$prev]-}" -- "${cur##*,}"
			compopt -o nospace 2>/dev/null || :
			;;
		*)
			[[ -n ${values[$prev]-} ]] &&
			    _tokencachectl_reply -W "${values[$prev]}" -- "$cur"
			;;
		esac
		return 0
	fi

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_tokencachectl_reply -W "${opts[*]}" -- "$cur"
		else
			_tokencachectl_reply -W "$(_tokencachectl_run help \
			    --commands | command sed 's/ .*//')" -- "$cur"
		fi
		return 0
	fi

	if [[ $cur == -* ]]; then
		_tokencachectl_reply -W "${opts[*]}" -- "$cur"
		return 0
	fi
	# One operand, and only the first.
	((nops == 0)) || return 0
	case $operand in
	NAME)
		_tokencachectl_reply -W "$(_tokencachectl_names "$dir")" \
		    -- "$cur"
		;;
	FILE)
		compopt -o filenames 2>/dev/null || :
		_tokencachectl_reply -f -- "$cur"
		;;
	COMMAND)
		_tokencachectl_reply -W "$(_tokencachectl_run help \
		    --commands | command sed 's/ .*//')" -- "$cur"
		;;
	esac
	return 0
}

complete -F _tokencachectl tokencachectl
