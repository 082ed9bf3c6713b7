/**
 * @module Help text settings for every command (`program.configureHelp`): required options say
 * "required", and a default computed at run time (e.g. `./.camelid/<network>`) is shown like a
 * fixed one when the option gives it as `.default(undefined, "description")`.
 */

import { Help, type Option } from "commander";

/** Help overrides for `Command.configureHelp` (inherited by commands added afterwards). */
export const helpSettings: Partial<Help> = {
  optionDescription(this: Help, option: Option): string {
    const base = Help.prototype.optionDescription.call(this, option);
    const extra: string[] = [];
    if (option.mandatory) extra.push("required");
    if (option.defaultValue === undefined && option.defaultValueDescription) {
      extra.push(`default: ${option.defaultValueDescription}`);
    }
    return extra.length ? `${base} (${extra.join(", ")})`.trim() : base;
  },
};
