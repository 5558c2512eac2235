/** Terminal colours, or none: only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
export interface Style {
  readonly time: (text: string) => string;
  readonly self: (text: string) => string;
  readonly sender: (text: string) => string;
  readonly private: (text: string) => string;
  readonly notice: (text: string) => string;
  readonly problem: (text: string) => string;
}

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;

const COLOURED: Style = {
  time: sgr(2, 22),
  self: sgr(32, 39),
  sender: sgr(1, 22),
  private: (text) => sgr(1, 22)(sgr(35, 39)(text)),
  notice: sgr(36, 39),
  problem: sgr(31, 39),
};

const plain = (text: string): string => text;
const PLAIN: Style = { time: plain, self: plain, sender: plain, private: plain, notice: plain, problem: plain };

export function chooseStyle(outputIsTty: boolean, noColor: string | undefined): Style {
  return outputIsTty && !noColor ? COLOURED : PLAIN;
}
