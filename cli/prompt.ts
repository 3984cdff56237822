/**
 * Questions to the person at the terminal: a confirmation or a hidden password. Prompts go to
 * stderr so stdout stays for results. A closed standard input is an answer of its own: an
 * InputError, never a hang.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { InputError } from '../lib/domain/errors.ts';

export const ask = (question: string, options: { hidden?: boolean } = {}): Promise<string> =>
  new Promise((resolve, reject) => {
    process.stderr.write(question);
    // What readline echoes: nothing for a hidden answer.
    const echo = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (!options.hidden) process.stderr.write(chunk);
        done();
      },
    });
    const rl = createInterface({
      input: process.stdin,
      output: echo,
      terminal: Boolean(process.stdin.isTTY),
    });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      if (options.hidden) process.stderr.write('\n');
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) reject(new InputError(`no answer to "${question.trim()}": standard input is closed`));
    });
  });
