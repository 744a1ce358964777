import { COMMANDS, GLOBAL_OPTIONS } from "../../cli.js";
import { UsageError, defineCommand, singleArg, type Options } from "../../command.js";

/** What the shells complete: each command's words and its flags (long names, `--`-prefixed). */
interface Grammar {
  /** "noun verb" or "noun" -> its flags. */
  commands: Map<string, string[]>;
  globals: string[];
}

const flagsOf = (options: Options) => Object.keys(options).map((n) => `--${n}`);

async function grammar(): Promise<Grammar> {
  const commands = new Map<string, string[]>();
  for (const [name, load] of Object.entries(COMMANDS)) commands.set(name, flagsOf((await load()).command.options));
  return { commands, globals: flagsOf(GLOBAL_OPTIONS) };
}

const quote = (words: readonly string[]) => words.join(" ");

/** bash: a completion function over the words typed so far (nouns, then verbs, then the command's flags). */
function bash(g: Grammar): string {
  const nouns = [...new Set([...g.commands.keys()].map((c) => c.split(" ")[0] ?? ""))];
  const verbCases = nouns
    .map((n) => {
      const verbs = [...g.commands.keys()].filter((c) => c.startsWith(`${n} `)).map((c) => c.slice(n.length + 1));
      return verbs.length ? `      ${n}) words="${quote(verbs)}" ;;` : "";
    })
    .filter(Boolean)
    .join("\n");
  // A two-word command matches exactly; a one-word command whatever its first argument is.
  const flagCases = [...g.commands]
    .map(([name, flags]) => {
      const pattern = name.includes(" ") ? `"${name}"` : `"${name} "*`;
      return `      ${pattern}) words="${quote([...flags, ...g.globals])}" ;;`;
    })
    .join("\n");
  return `# bash completion for kubecycle (\`kubecycle completion bash\`); load it with: source <(kubecycle completion bash)
_kubecycle() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words="" i w
  local -a typed=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] || typed+=("$w")
  done
  if [[ $cur == -* ]]; then
    case "\${typed[0]} \${typed[1]}" in
${flagCases}
      *) words="${quote(g.globals)}" ;;
    esac
  elif (( \${#typed[@]} == 0 )); then
    words="${quote(nouns)}"
  elif (( \${#typed[@]} == 1 )); then
    case "\${typed[0]}" in
${verbCases}
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _kubecycle kubecycle
`;
}

/** zsh: bash's completion through bashcompinit, which every zsh ships. */
function zsh(g: Grammar): string {
  return `#compdef kubecycle
# zsh completion for kubecycle (\`kubecycle completion zsh\`); load it with: source <(kubecycle completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(g).split("\n").slice(1).join("\n")}`;
}

/** fish: one `complete` line per noun, verb and flag, each under the condition that makes it apply. */
function fish(g: Grammar): string {
  const nouns = [...new Set([...g.commands.keys()].map((c) => c.split(" ")[0] ?? ""))];
  const lines = [
    "# fish completion for kubecycle (`kubecycle completion fish`); load it with: kubecycle completion fish | source",
    "complete -c kubecycle -f",
    `complete -c kubecycle -n __fish_use_subcommand -a "${quote(nouns)}"`,
  ];
  for (const noun of nouns) {
    const verbs = [...g.commands.keys()].filter((c) => c.startsWith(`${noun} `)).map((c) => c.slice(noun.length + 1));
    if (verbs.length) {
      lines.push(
        `complete -c kubecycle -n "__fish_seen_subcommand_from ${noun}; and not __fish_seen_subcommand_from ${quote(verbs)}" -a "${quote(verbs)}"`,
      );
    }
  }
  for (const [name, flags] of g.commands) {
    const [noun, verb] = name.split(" ");
    const when = verb
      ? `__fish_seen_subcommand_from ${noun}; and __fish_seen_subcommand_from ${verb}`
      : `__fish_seen_subcommand_from ${noun}`;
    for (const f of flags) lines.push(`complete -c kubecycle -n "${when}" -l ${f.slice(2)}`);
  }
  for (const f of g.globals) lines.push(`complete -c kubecycle -l ${f.slice(2)}`);
  return `${lines.join("\n")}\n`;
}

const SHELLS = { bash, zsh, fish } as const;

export const command = defineCommand({
  summary: "Print a shell completion script (bash, zsh or fish)",
  usage: `kubecycle completion SHELL

  bash:  source <(kubecycle completion bash)        (or save it in /etc/bash_completion.d/kubecycle)
  zsh:   source <(kubecycle completion zsh)
  fish:  kubecycle completion fish | source         (or save it in ~/.config/fish/completions/kubecycle.fish)`,
  options: {},
  async run(ctx) {
    const shell = singleArg(ctx, "SHELL");
    if (!Object.hasOwn(SHELLS, shell)) {
      throw new UsageError(`SHELL must be one of ${Object.keys(SHELLS).join(", ")}, not "${shell}"`, ctx.name);
    }
    ctx.stdout.write(SHELLS[shell as keyof typeof SHELLS](await grammar()));
    return 0;
  },
});
