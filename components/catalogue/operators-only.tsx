import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";

/** What a person who is not an operator sees on a catalogue editing page. */
export function OperatorsOnly() {
  return (
    <Alert>
      <AlertTitle>Only operators change the catalogue</AlertTitle>
      <AlertDescription>
        The catalogue is shared by every account of this Berth. Whoever runs it makes operators with{" "}
        <code>npx berth operators grant --email &lt;email&gt;</code>.
      </AlertDescription>
    </Alert>
  );
}
