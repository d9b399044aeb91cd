// node retrieve.mjs '{"CustomObject": ["Ticket__c"]}' : metadata.retrieve, polled to the end
import { answer, connect } from './connect.mjs';

const members = JSON.parse(process.argv[2]);
const types = Object.entries(members).map(([name, list]) => ({ name, members: list }));
answer(
  connect()
    .metadata.retrieve({ apiVersion: '61.0', unpackaged: { types, version: '61.0' } })
    .complete(),
);
