// Listing a dataset tree follows symlinked folders, and a link that leads back into the walk is an error
// naming that link (not the dataset root, not a path grown until it is too long).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listImages } from '../../src/data/files.js';
import { tempWorkspace, type TempWorkspace } from '../support/index.js';

let ws: TempWorkspace;
afterEach(() => ws?.cleanup());

describe('listImages', () => {
  it('follows symlinked folders, skips dangling links, and names a link that loops back', () => {
    ws = tempWorkspace();
    const root = ws.path('data');
    mkdirSync(join(root, 'joy', 'deep'), { recursive: true });
    mkdirSync(ws.path('elsewhere'));
    writeFileSync(join(root, 'joy', 'deep', 'a.jpg'), '');
    writeFileSync(ws.path('elsewhere/b.jpg'), '');
    symlinkSync(ws.path('elsewhere'), join(root, 'sad'));
    symlinkSync('missing', join(root, 'dangling'));
    expect(listImages(root)).toEqual(['joy/deep/a.jpg', 'sad/b.jpg']);

    symlinkSync('../..', join(root, 'joy', 'deep', 'up'));
    expect(() => listImages(root)).toThrow(`${join(root, 'joy', 'deep', 'up')}: symbolic link loop: it points to ${root}`);
  });

  it('names the link of a loop between two folders, and a link that points to itself', () => {
    ws = tempWorkspace();
    const root = ws.path('data');
    mkdirSync(join(root, 'x'), { recursive: true });
    mkdirSync(join(root, 'y'));
    symlinkSync('../y', join(root, 'x', 'to-y'));
    symlinkSync('../x', join(root, 'y', 'to-x'));
    expect(() => listImages(join(root, 'x'))).toThrow(`${join(root, 'x', 'to-y', 'to-x')}: symbolic link loop: it points to ${join(root, 'x')}`);
    const self = ws.path('self');
    mkdirSync(self);
    symlinkSync('me', join(self, 'me'));
    expect(() => listImages(self)).toThrow(`${join(self, 'me')}: symbolic link loop (-> me)`);
  });
});
