// Creates the Node.js reference app's table (pk/sk, index-1-full on pk1/sk1, as its CloudFormation template does)
// in the fake DynamoDB and loads its restaurant use case, printed by the reference's own loader script.
// Run from the reference's app/ folder (its @aws-sdk packages): node <this file> <loader.mjs> <table>
import { execFileSync } from "node:child_process";
import { DynamoDBClient, CreateTableCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";

const [loader, table] = process.argv.slice(2);
const client = new DynamoDBClient({});
const key = (name) => ({ AttributeName: name, AttributeType: "S" });
await client.send(new CreateTableCommand({
  TableName: table,
  BillingMode: "PAY_PER_REQUEST",
  AttributeDefinitions: [key("pk"), key("sk"), key("pk1"), key("sk1")],
  KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
  GlobalSecondaryIndexes: [{
    IndexName: "index-1-full",
    KeySchema: [{ AttributeName: "pk1", KeyType: "HASH" }, { AttributeName: "sk1", KeyType: "RANGE" }],
    Projection: { ProjectionType: "ALL" },
  }],
}));
const item = JSON.parse(execFileSync(process.execPath, [loader], { encoding: "utf8" }));
await client.send(new PutItemCommand({ TableName: table, Item: item }));
console.log(`table ${table} created; use case ${item.pk.S} loaded`);
