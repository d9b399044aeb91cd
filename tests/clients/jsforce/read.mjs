// node read.mjs TYPE NAME... : metadata.read (always an array)
import { answer, connect } from './connect.mjs';

const [type, ...names] = process.argv.slice(2);
answer(connect().metadata.read(type, names).then((found) => [].concat(found)));
